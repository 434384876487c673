"""The shop's knowledge base of standard answers and the retriever that matches questions to it."""
