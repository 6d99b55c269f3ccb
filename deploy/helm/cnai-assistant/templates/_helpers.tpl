{{/* Names and labels shared by every template. */}}
{{- define "cnai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cnai.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cnai.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "cnai.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: api, ui or ingest. */}}
{{- define "cnai.selector" -}}
app.kubernetes.io/name: {{ include "cnai.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cnai.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "cnai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cnai.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cnai.indexClaim" -}}
{{- .Values.index.existingClaim | default (printf "%s-index" (include "cnai.fullname" .)) }}
{{- end }}

{{- define "cnai.secretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-secrets" (include "cnai.fullname" .)) }}
{{- end }}

{{/* The OpenAI-compatible base URL: set explicitly, or the example InferenceService's. */}}
{{- define "cnai.llmBaseUrl" -}}
{{- if .Values.llm.baseUrl }}
{{- .Values.llm.baseUrl }}
{{- else if .Values.kserve.inferenceService.enabled }}
{{- printf "http://%s-predictor.%s.svc.cluster.local/openai/v1" .Values.kserve.inferenceService.name .Release.Namespace }}
{{- end }}
{{- end }}

{{- define "cnai.llmModel" -}}
{{- if .Values.llm.model }}
{{- .Values.llm.model }}
{{- else if .Values.kserve.inferenceService.enabled }}
{{- .Values.kserve.inferenceService.modelName }}
{{- end }}
{{- end }}

{{/* Checks that fail the render with a message saying what to change. */}}
{{- define "cnai.validate" -}}
{{- $answerers := list "extractive" "openai" "local" }}
{{- if not (has .Values.llm.answerer $answerers) }}
{{- fail (printf "llm.answerer must be one of extractive, openai, local; got %q" .Values.llm.answerer) }}
{{- end }}
{{- if and (eq .Values.llm.answerer "openai") (not (include "cnai.llmBaseUrl" .)) }}
{{- fail "llm.answerer is openai but llm.baseUrl is empty: set it to the server's /v1 URL (or enable kserve.inferenceService)" }}
{{- end }}
{{- with .Values.llm.baseUrl }}
{{- if not (regexMatch "^https?://" .) }}
{{- fail (printf "llm.baseUrl must be an http(s) URL such as http://vllm:8000/v1; got %q" .) }}
{{- end }}
{{- end }}
{{- with .Values.reranker.url }}
{{- if not (regexMatch "^https?://" .) }}
{{- fail (printf "reranker.url must be an http(s) URL such as http://tei:8080; got %q" .) }}
{{- end }}
{{- end }}
{{- if not (has .Values.reranker.protocol (list "tei" "infinity")) }}
{{- fail (printf "reranker.protocol must be tei or infinity; got %q" .Values.reranker.protocol) }}
{{- end }}
{{- if and .Values.api.autoscaling.enabled (lt (int .Values.api.autoscaling.maxReplicas) (int .Values.api.autoscaling.minReplicas)) }}
{{- fail "api.autoscaling.maxReplicas must be at least api.autoscaling.minReplicas" }}
{{- end }}
{{- if and .Values.ingest.cronJob.enabled (not .Values.ingest.cronJob.schedule) }}
{{- fail "ingest.cronJob.enabled needs ingest.cronJob.schedule (a cron expression such as \"0 3 * * *\")" }}
{{- end }}
{{- end }}

{{/* The ingest container, shared by the Job and the CronJob. */}}
{{- define "cnai.ingestPod" -}}
serviceAccountName: {{ include "cnai.serviceAccountName" . }}
restartPolicy: Never
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
containers:
  - name: ingest
    image: {{ include "cnai.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    {{- $docs := ternary "/docs/in" .Values.ingest.documents.path (ne .Values.ingest.documents.existingClaim "") }}
    args: ["ingest", {{ $docs | quote }}, "--index", "/data/index"]
    env:
      - name: CNAI_CHUNK_TOKENS
        value: {{ .Values.ingest.chunkTokens | quote }}
      - name: CNAI_THREADS
        value: {{ .Values.ingest.threads | quote }}
      - name: HOME
        value: /tmp
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    resources:
      {{- toYaml .Values.ingest.resources | nindent 6 }}
    volumeMounts:
      - {name: index, mountPath: /data}
      - {name: tmp, mountPath: /tmp}
      {{- if .Values.ingest.documents.existingClaim }}
      - name: documents
        mountPath: /docs/in
        readOnly: true
        {{- with .Values.ingest.documents.subPath }}
        subPath: {{ . }}
        {{- end }}
      {{- end }}
volumes:
  - name: index
    persistentVolumeClaim:
      claimName: {{ include "cnai.indexClaim" . }}
  - name: tmp
    emptyDir: {}
  {{- with .Values.ingest.documents.existingClaim }}
  - name: documents
    persistentVolumeClaim:
      claimName: {{ . }}
      readOnly: true
  {{- end }}
{{- with .Values.ingest.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.ingest.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
