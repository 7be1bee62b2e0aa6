// Package httpedge holds what both HTTP edges — the API (package api) and
// the dashboard (package web) — need from a request: the client's address
// behind trusted proxies (clientaddr.go); the request id, the request log
// and the recoverer, with the logger they put in the request's context
// (middleware.go); and the one mapping of any error to the problem a client
// is answered with (problem.go), from the error vocabulary of package
// intake.
//
// It owns no table.
package httpedge
