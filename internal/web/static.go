package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded stylesheet and script. Pages link to them
// with a content hash in the query, so a link to the current version may be
// cached for a year and a new release is fetched at once.
type staticFiles struct {
	files  fs.FS
	hashes map[string]string // file name → short content hash
}

func newStaticFiles() (*staticFiles, error) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s := &staticFiles{files: sub, hashes: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.hashes[name] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	return s, nil
}

// url is the template function "static": the versioned path of a file. An
// unknown name fails the page (and the tests), not silently a 404.
func (s *staticFiles) url(name string) (string, error) {
	hash, ok := s.hashes[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + name + "?v=" + hash, nil
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	hash, ok := s.hashes[name] // only known files: no listings, no traversal
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	w.Header().Set("ETag", `"`+hash+`"`)
	http.ServeFileFS(w, r, s.files, name)
}
