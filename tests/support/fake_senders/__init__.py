"""Local stand-ins for the providers' send APIs (and an SMTP server); see README.md here."""
