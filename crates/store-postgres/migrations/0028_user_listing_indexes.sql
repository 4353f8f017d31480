-- ListUsers pages by a searchable attribute read its index as a keyset: attribute, then
-- username key, so each index carries the key and a page never walks users it won't return.
DROP INDEX users_by_email;
DROP INDEX users_by_phone_number;
DROP INDEX users_by_name;
DROP INDEX users_by_given_name;
DROP INDEX users_by_family_name;
DROP INDEX users_by_preferred_username;
DROP INDEX users_by_status;
CREATE INDEX users_by_email ON users (pool_id, email, username_key);
CREATE INDEX users_by_phone_number ON users (pool_id, phone_number, username_key);
CREATE INDEX users_by_name ON users (pool_id, name, username_key);
CREATE INDEX users_by_given_name ON users (pool_id, given_name, username_key);
CREATE INDEX users_by_family_name ON users (pool_id, family_name, username_key);
CREATE INDEX users_by_preferred_username ON users (pool_id, preferred_username, username_key);
CREATE INDEX users_by_status ON users (pool_id, status, username_key);
