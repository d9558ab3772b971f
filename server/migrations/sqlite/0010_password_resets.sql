-- A one-time link is either a new user's set-up link ('setup': only while the user has no password) or a
-- password reset an admin issued for a user who has one ('reset': it replaces the password).
ALTER TABLE password_setups ADD COLUMN purpose TEXT NOT NULL DEFAULT 'setup' CHECK (purpose IN ('setup', 'reset'));
