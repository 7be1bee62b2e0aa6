-- The serve processes alive now (README, "More than one node"): each
-- writes its row every few seconds and deletes it when it stops. A
-- per-client limit is kept across the cluster by giving each live node
-- its share of it: the limit divided by how many rows are fresh
-- (database/nodes.go), so the nodes together let through no more than
-- the limit, with no database round trip per request.

-- +goose Up
CREATE TABLE serve_nodes (
    id      text PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE serve_nodes;
