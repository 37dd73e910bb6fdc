"""vectorstore."""
