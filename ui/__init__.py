"""Command line, Gradio app and HTTP API: thin adapters around a Bot."""
