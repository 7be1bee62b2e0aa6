package pages

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Cache policies of the asset routes.
const (
	// cacheImmutable is for content-hash URLs: their bytes never change.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cacheAlias is for /js/intake.js, which sites link to and which follows
	// each release within minutes.
	cacheAlias = "public, max-age=300"
)

// hashLen is how many hex digits of the SHA-256 of a file go into its URL.
const hashLen = 8

// asset is one embedded static file.
type asset struct {
	name        string // file name under static/, e.g. "intake.js"
	path        string // content-hash URL path, e.g. "/js/intake.3f9a1c2b.js"
	hash        string
	contentType string
	body        []byte
}

// route is what one asset URL path serves.
type route struct {
	asset        *asset
	cacheControl string
}

// contentTypes names the type of the usual asset extensions; others take
// mime's, and a file with an unknown extension fails New.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// loadAssets reads every file under static/ and gives it its content-hash
// URL: scripts under /js/, everything else under /static/.
func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("pages: read static: %w", err)
	}
	assets := make(map[string]*asset, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("pages: static/%s: directories are not served", e.Name())
		}
		body, err := fs.ReadFile(fsys, "static/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("pages: read static/%s: %w", e.Name(), err)
		}
		base, ext := pathBase(e.Name())
		ctype, ok := contentTypes[ext]
		if !ok {
			if ctype = mime.TypeByExtension(ext); ctype == "" {
				return nil, fmt.Errorf("pages: static/%s: unknown content type", e.Name())
			}
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:hashLen]
		dir := "/static/"
		if ext == ".js" {
			dir = "/js/"
		}
		assets[e.Name()] = &asset{
			name:        e.Name(),
			path:        dir + base + "." + hash + ext,
			hash:        hash,
			contentType: ctype,
			body:        body,
		}
	}
	return assets, nil
}

// Static returns the handler for the asset routes: GET /js/intake.js (stable alias, short cache: Cache-Control: public, max-age=300), GET /js/intake.<hash>.js (content-hash URL, Cache-Control: public, max-age=31536000, immutable; any other hash 404), and GET /static/<name>.<hash>.<ext> for the CSS the same way. Correct Content-Type (text/javascript; charset=utf-8, text/css; charset=utf-8), ETag = the hash, and 304 on If-None-Match.
//
// The handler matches the full request path, so mount it on "/js/*" and
// "/static/*" without stripping the prefix. HEAD and Range requests are
// answered too; other methods get 405.
func (p *Pages) Static() http.Handler {
	return http.HandlerFunc(p.serveStatic)
}

func (p *Pages) serveStatic(w http.ResponseWriter, r *http.Request) {
	rt, ok := p.routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", rt.asset.contentType)
	h.Set("Cache-Control", rt.cacheControl)
	h.Set("ETag", `"`+rt.asset.hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	// Sites on other origins load intake.js; these let them do so with
	// Subresource Integrity (crossorigin="anonymous") and under COEP.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	// ServeContent answers If-None-Match against the ETag set above with 304,
	// keeping ETag and Cache-Control; a zero time sends no Last-Modified.
	http.ServeContent(w, r, rt.asset.name, time.Time{}, bytes.NewReader(rt.asset.body))
}

// pathBase splits "intake.js" into "intake" and ".js".
func pathBase(name string) (base, ext string) {
	ext = path.Ext(name)
	return strings.TrimSuffix(name, ext), ext
}
