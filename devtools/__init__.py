"""Development tools: the demo merchant and the test doubles (fake malls). Not part of a production install."""
