// Package httpedge holds what both HTTP edges — the API (package api) and
// the dashboard (package web) — need from a request: the client's address
// behind trusted proxies and the key a per-client limit counts it by
// (clientaddr.go), and the request id, the request log and the recoverer,
// with the logger they put in the request's context (middleware.go).
//
// It owns no table.
package httpedge
