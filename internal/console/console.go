// Package console holds the investigator's console: a single-page
// application served by the node at / (issue 14). It is static files only,
// embedded in the binary, with its JavaScript libraries vendored from npm
// at pinned versions (vendor.sh; assets/vendor/LICENSES.txt): the browser
// loads nothing from anywhere but the node. The page calls the node's own
// /v1 API with a console session (internal/api/console.go), so every
// check, refusal and audit record is the API's, not the console's.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Assets is the console's files, rooted at assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	return sub
}

// Index serves the console's page (GET /).
func Index(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(Assets(), "index.html")
	if err != nil {
		http.Error(w, "console not built into this binary", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// Files serves the console's assets under prefix (GET /console/...).
// Directory listings are not served.
func Files(prefix string) http.Handler {
	fsrv := http.StripPrefix(prefix, http.FileServerFS(Assets()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		// The vendored files change only with the binary.
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
