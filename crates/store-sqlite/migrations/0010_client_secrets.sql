-- A second client secret, for zero-downtime rotation (AddUserPoolClientSecret), and the creation
-- time of each secret, from which its ClientSecretId is derived. Lockstep with the PostgreSQL 0010.
--
-- Slot 1 (sealed_secret) holds the older secret, slot 2 the newer; a client has at most two.
-- A secret from before this migration was created with its client, so it takes the client's
-- creation time (and with it an id).
ALTER TABLE app_clients ADD COLUMN secret_created_at BIGINT;
ALTER TABLE app_clients ADD COLUMN sealed_secret_2 BLOB;
ALTER TABLE app_clients ADD COLUMN secret_2_created_at BIGINT;
UPDATE app_clients SET secret_created_at = created_at WHERE sealed_secret IS NOT NULL;
