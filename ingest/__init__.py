"""Turn documents into a searchable, versioned FAISS index."""
