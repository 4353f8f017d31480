-- SRP salt and sealed verifier in columns of their own, so a pool can drop them all at once
-- (when SRP is turned off) without rewriting JSON. Lockstep with the other backend's 0002.
ALTER TABLE users ADD COLUMN srp_salt BLOB;
ALTER TABLE users ADD COLUMN srp_verifier BLOB;
