"""The mailer's writes: queueing (the ledger), delivery (the worker's SMTP side), retention."""
