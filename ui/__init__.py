"""The Streamlit chat UI and its HTTP client for the API."""
