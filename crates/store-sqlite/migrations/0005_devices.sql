-- Devices users asked to be remembered (and those tracked before they confirm). The device's
-- SRP verifier is sealed inside data. Lockstep with the other backend's 0005.
CREATE TABLE devices (
    device_key TEXT NOT NULL PRIMARY KEY,
    pool_id    TEXT   NOT NULL,
    sub        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX devices_by_user ON devices (pool_id, sub, device_key);
