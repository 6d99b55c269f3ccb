"""The index page of the chat UI: what the API's knowledge base holds, from GET /v1/index."""

from __future__ import annotations

import streamlit as st

from ui.client import ApiClient, ApiError, ApiUnavailable, InvalidUiSetting, timeout_from_env

INDEX_TITLE = "What the assistant knows"


def main() -> None:
    st.title(INDEX_TITLE)
    try:
        info = ApiClient(timeout=timeout_from_env()).index()
    except InvalidUiSetting as exc:
        st.error(str(exc))
        return
    except ApiUnavailable as exc:
        st.warning(str(exc))
        return
    except ApiError as exc:
        show = st.warning if exc.status == 503 else st.error
        show(f"The API has no index to show: {exc.message}")
        return
    left, middle, right = st.columns(3)
    left.metric("Documents", len(info.documents))
    middle.metric("Passages", info.chunks)
    right.metric("Kinds", len(info.kinds))
    st.caption(
        f"Embedding model `{info.model}` ({info.dimension} dimensions) · built {info.created_at} "
        f"· version `{info.version}`"
    )
    st.markdown(" · ".join(f"**{kind}** {count}" for kind, count in info.kinds.items()))
    rows = [
        {"title": d.title, "kind": d.kind, "chunks": d.chunks, "source": d.url or None,
         "document": d.path}
        for d in info.documents
    ]  # fmt: skip
    st.dataframe(
        rows,
        hide_index=True,
        column_config={"source": st.column_config.LinkColumn("source URL")},
    )


if __name__ == "__main__":
    main()
