"""Pure parsing and normalization of Infobip webhook bodies: no framework imports here."""
