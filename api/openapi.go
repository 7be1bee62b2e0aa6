package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// openapiSource is the OpenAPI 3.1 description of every route,
// indented for people who edit it. The tests check every response against it.
//
//go:embed openapi.json
var openapiSource []byte

// openapiDoc is the description as served: compacted (an agent pays for
// every byte it reads) and with its strong ETag, computed once.
var openapiDoc = sync.OnceValues(func() ([]byte, string) {
	var b bytes.Buffer
	if err := json.Compact(&b, openapiSource); err != nil {
		// openapi.json is embedded at build time and the tests load it:
		// a broken one cannot ship.
		panic("api: openapi.json is not valid JSON: " + err.Error())
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), `"` + hex.EncodeToString(sum[:16]) + `"`
})

// OpenAPI returns the OpenAPI description exactly as GET /api/openapi.json
// serves it.
func OpenAPI() []byte {
	doc, _ := openapiDoc()
	return doc
}

// openAPI is GET /api/openapi.json: cacheable for five minutes, then
// revalidated with If-None-Match (304). Any origin may read it, so that
// browser tools (Swagger UI, Redocly) load it from the instance; it is
// public and carries no credentials.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	doc, etag := openapiDoc()
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag")
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=300")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}

// openAPIPreflight is OPTIONS /api/openapi.json: the CORS preflight of a
// browser tool that revalidates with If-None-Match (not a simple header).
func openAPIPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-None-Match")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, RFC 9110 §13.1.2) or is "*".
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
