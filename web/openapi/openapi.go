// Package openapi describes Tidings' HTTP API: the OpenAPI 3 document
// (openapi.yaml, embedded and served as JSON at /v1/openapi.json) and Mux,
// the ServeMux that remembers its routes, so a test can hold the document
// to what the server really serves, both ways.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Path is where the document is served.
const Path = "/v1/openapi.json"

//go:embed openapi.yaml
var source []byte

var (
	once    sync.Once
	doc     []byte
	docErr  error
	decoded map[string]any
)

// Document returns the OpenAPI document as JSON.
func Document() ([]byte, error) {
	once.Do(func() {
		if docErr = yaml.Unmarshal(source, &decoded); docErr != nil {
			docErr = fmt.Errorf("openapi: openapi.yaml: %w", docErr)
			return
		}
		doc, docErr = json.MarshalIndent(decoded, "", "  ")
	})
	return doc, docErr
}

// Handler serves the document (GET /v1/openapi.json); it needs no
// credential: it says how to call the API, not what it holds.
func Handler() (http.Handler, error) {
	body, err := Document()
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(body)
	}), nil
}

// Mux is an http.ServeMux that remembers the patterns registered on it.
// The web packages build their handlers on one, cmd/tidings mounts each of
// their patterns on its own, and the OpenAPI test reads the server's list.
type Mux struct {
	http.ServeMux
	patterns []string
}

// Handle registers h for pattern and remembers the pattern.
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers f for pattern and remembers the pattern.
func (m *Mux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// Patterns returns the patterns registered, in order.
func (m *Mux) Patterns() []string { return append([]string(nil), m.patterns...) }

// Router is a handler that lists the patterns it serves.
type Router interface {
	http.Handler
	Patterns() []string
}

// NotFound answers a /v1/ request that no route takes, in the API's JSON
// error shape: 405 with Allow when the path exists for other methods, else
// 404; both point at the document. Mount it on "/v1/" of mux.
func NotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" && p != "/v1/" {
				allow = append(allow, m)
			}
		}
		status, code, msg := http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path
		if len(allow) > 0 {
			status, code, msg = http.StatusMethodNotAllowed, "method_not_allowed", r.URL.Path+" does not take "+r.Method+"; it takes "+strings.Join(allow, ", ")
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": code, "error": msg,
			"hint": "GET " + Path + " describes every route; docs/api.md has a curl example of each"})
	})
}
