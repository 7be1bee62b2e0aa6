-- +goose Up
-- Files are read back in chunks (substring of the bytea, submissions.PGFiles):
-- stored uncompressed, a chunk reads only its own TOAST pages; compressed,
-- every chunk would decompress the file from its start. Uploads are mostly
-- compressed already (PDF, JPEG, PNG, Office files), so little is lost.
-- Applies to files stored from now on; older ones still read, more slowly.
ALTER TABLE submission_files ALTER COLUMN content SET STORAGE EXTERNAL;

-- +goose Down
ALTER TABLE submission_files ALTER COLUMN content SET STORAGE EXTENDED;
