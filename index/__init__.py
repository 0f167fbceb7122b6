"""Loading, cleaning, chunking, embedding and storing articles."""
