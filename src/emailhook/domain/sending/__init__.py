"""The send pipeline's pure rules: the message model and the validation of a send request into
it, placeholders, the suppression scope, retry decisions, the token bucket and unsubscribe
tokens. No framework: the service layer and the providers' send sides build on these."""
