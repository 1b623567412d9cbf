"""Domain services: the rules of Fieldsync. Never imports request, session or a blueprint."""
