"""Questions to start from on an empty chat, by the readers the CNCF whitepaper writes for."""

from __future__ import annotations

# Written for this UI, in our own words; each has an answer in the CNAI documents.
EXAMPLES: dict[str, list[str]] = {
    "Data engineer": [
        "What does a vector database do in a retrieval augmented generation setup?",
        "Which data preparation problems does the whitepaper raise for AI on Kubernetes?",
    ],
    "Data scientist": [
        "Should I read the whitepaper from start to finish?",
        "What makes distributed model training hard in cloud native environments?",
    ],
    "ML engineer": [
        "How does serving a model differ from training one?",
        "Which ways of sharing one GPU between users does the whitepaper mention?",
    ],
    "Platform engineer / SRE": [
        "What does gang scheduling do for distributed training jobs?",
        "What is missing in Kubernetes scheduling for AI workloads?",
    ],
}
