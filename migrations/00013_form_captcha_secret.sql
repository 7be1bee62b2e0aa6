-- A form's CAPTCHA secret, sealed (AES-256-GCM under INTAKE_SECRET_KEY, bound
-- to the form) like webhook secrets. It lives beside the settings, not in
-- them, so that nothing that shows settings can show it.

-- +goose Up
ALTER TABLE forms ADD COLUMN captcha_secret text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE forms DROP COLUMN captcha_secret;
