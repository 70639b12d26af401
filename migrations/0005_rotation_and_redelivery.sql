-- Webhook secret rotation keeps every promise: a secret rotated out signs
-- until its own previous_secret_valid_until, so a second rotation within 24 h
-- moves the previous secret here instead of dropping it (three valid at most).
ALTER TABLE tenants ADD COLUMN older_webhook_secret TEXT;
ALTER TABLE tenants ADD COLUMN older_secret_valid_until INTEGER;

-- Set while a manual redelivery of the event is in flight (its lease's end,
-- Unix ms); cleared when that attempt is recorded. One in flight per event.
ALTER TABLE webhook_events ADD COLUMN redelivery_until INTEGER;
