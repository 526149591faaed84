"""E-mail providers: one module each, registered in ``registry``; pure code, no framework."""
