package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// maxBodyBytes caps every request body; the largest real one (sign-up) is
// well under 1 KiB.
const maxBodyBytes = 64 << 10

// decodeBody reads a JSON object strictly into dst (a pointer to a struct
// of string and *string fields): a body is required, declared as
// application/json, valid UTF-8, a single object with only known members
// of the right types, and no string may hold a NUL character.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return &requestError{detail: "The request body is empty; send a JSON object."}
	}
	return decodeJSON(r, body, dst)
}

// decodeEmptyBody is for endpoints that take no input: no body, or an empty
// JSON object, is accepted; anything else is refused rather than ignored.
func decodeEmptyBody(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil || len(body) == 0 {
		return err
	}
	return decodeJSON(r, body, &struct{}{})
}

// readBody reads at most maxBodyBytes (an *http.MaxBytesError beyond) and
// returns the body with surrounding whitespace removed.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, &requestError{detail: "The request body could not be read."}
	}
	return bytes.TrimSpace(body), nil
}

func decodeJSON(r *http.Request, body []byte, dst any) error {
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		return &mediaTypeError{contentType: ct}
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return &requestError{detail: "The request body is not valid UTF-8."}
	}
	if body[0] != '{' {
		return &requestError{detail: "The request body must be a JSON object."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &requestError{detail: "The request body has data after the JSON object."}
	}
	return checkStrings(dst)
}

// isJSON accepts application/json, with no parameter but charset=utf-8.
func isJSON(contentType string) bool {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// jsonError turns a decoding error into a message that says what and where.
func jsonError(err error) error {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.As(err, &syntax):
		return &requestError{detail: fmt.Sprintf("The request body is not valid JSON (at byte %d).", syntax.Offset)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &requestError{detail: "The request body ends before the JSON object does."}
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return &requestError{detail: "The request body must be a JSON object."}
		}
		want := describeType(typeErr.Type)
		return &requestError{
			detail: fmt.Sprintf("The field %q must be %s, not %s.", typeErr.Field, want, typeErr.Value),
			field:  typeErr.Field, msg: "Must be " + want + ".",
		}
	}
	// encoding/json has no type for this one; its message is stable.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if len(name) > 64 || !utf8.ValidString(name) {
			name = "(a long field name)"
		}
		return &requestError{
			detail: fmt.Sprintf("The field %q is not part of this request.", name),
			field:  name, msg: "Unknown field.",
		}
	}
	return &requestError{detail: "The request body is not valid JSON."}
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// checkStrings refuses NUL characters (valid JSON as \u0000) in any string
// member: no field of this API can mean one, and they upset logs and
// downstream tools.
func checkStrings(dst any) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Kind() != reflect.String || !strings.ContainsRune(f.String(), 0) {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		return &requestError{
			detail: fmt.Sprintf("The field %q contains a NUL character.", name),
			field:  name, msg: "Must not contain NUL characters.",
		}
	}
	return nil
}
