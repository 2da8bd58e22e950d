-- PagerDuty-compatible integrations (auth mode routing_key) are found by their key:
-- a sender posts to one URL for every integration with the key in the body. The key is
-- kept only as its blind index in token_hmac; this index makes the lookup one probe
-- (no scan) and keeps two integrations from ever sharing a key.
CREATE UNIQUE INDEX integrations_routing_key ON integrations (token_hmac)
    WHERE auth_mode = 'routing_key';
