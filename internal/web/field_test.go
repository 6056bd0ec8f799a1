package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The field function reads the problem and the focus from the view and
// points the input at its hint, at the ids the page names, and at its
// message, in that order.
func TestField(t *testing.T) {
	withError := &view{Errors: map[string]string{"code": "That code is not right."}, Focus: "code"}
	tests := []struct {
		name  string
		v     *view
		pairs []any
		want  formField
	}{
		{"plain", &view{}, []any{"name", "email", "label", "Email", "type", "email", "required", true, "maxlength", 254},
			formField{ID: "email", Name: "email", Label: "Email", Type: "email", Required: true, MaxLength: 254}},
		{"hint", &view{}, []any{"name", "code", "label", "Code", "type", "text", "hint", "Six digits."},
			formField{ID: "code", Name: "code", Label: "Code", Type: "text", Hint: "Six digits.", DescribedBy: "code-hint"}},
		{"hint and error, focused", withError, []any{"name", "code", "label", "Code", "type", "text", "hint", "Six digits."},
			formField{ID: "code", Name: "code", Label: "Code", Type: "text", Hint: "Six digits.", Error: "That code is not right.",
				Autofocus: true, DescribedBy: "code-hint code-error"}},
		{"another field's error", withError, []any{"name", "password", "label", "Password", "type", "password"},
			formField{ID: "password", Name: "password", Label: "Password", Type: "password"}},
		{"the form's message", &view{}, []any{"name", "email", "label", "Email", "type", "email", "describedby", "form-message"},
			formField{ID: "email", Name: "email", Label: "Email", Type: "email", DescribedBy: "form-message"}},
		{"no form message", &view{}, []any{"name", "email", "label", "Email", "type", "email", "describedby", ""},
			formField{ID: "email", Name: "email", Label: "Email", Type: "email"}},
		{"shown, not submitted", &view{}, []any{"id", "email", "label", "Email", "type", "email", "value", "ana@example.com", "readonly", true},
			formField{ID: "email", Label: "Email", Type: "email", Value: "ana@example.com", ReadOnly: true}},
		{"missing value", &view{}, []any{"name", "name", "label", "Name", "type", "text", "value", nil},
			formField{ID: "name", Name: "name", Label: "Name", Type: "text"}},
		{"textarea", &view{}, []any{"name", "redirect_uris", "label", "Redirect URIs", "type", "textarea", "rows", 3},
			formField{ID: "redirect_uris", Name: "redirect_uris", Label: "Redirect URIs", Type: "textarea", Rows: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newField(tt.v, tt.pairs...)
			if err != nil || got != tt.want {
				t.Errorf("field(%v) = %+v, %v; want %+v", tt.pairs, got, err, tt.want)
			}
		})
	}
}

// A typo in a template's field fails the render instead of dropping an
// attribute.
func TestFieldRefusesMistakes(t *testing.T) {
	for _, pairs := range [][]any{
		{"name", "code", "label", "Code", "type", "text", "maxlenght", 7},
		{"name", "code", "label", "Code", "type", "text", "maxlength", "7"},
		{"name", "code", "label", "Code", "type", "text", "required", "yes"},
		{"name", "code", "label", "Code", "type"},
		{"name", "code", "label", "Code", 7, "text"},
		{"name", "code", "type", "text"},
		{"label", "Code", "type", "text"},
		{"name", "code", "label", "Code", "type", "text", "rows", 3},
	} {
		if f, err := newField(&view{}, pairs...); err == nil {
			t.Errorf("field(%v) = %+v, nil; want an error", pairs, f)
		}
	}
}

// The partial renders what the tests of every page read: the label for
// the input, the hint and the message with the ids the input names, and
// aria-invalid only with a message.
func TestFieldPartial(t *testing.T) {
	h := &handler{static: mustStatic(t)}
	pages, err := parsePages(h.templateFuncs())
	if err != nil {
		t.Fatal(err)
	}
	render := func(f formField) string {
		t.Helper()
		var buf bytes.Buffer
		if err := pages[pageSignIn].ExecuteTemplate(&buf, "field", f); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	f, err := newField(&view{Errors: map[string]string{"code": "Enter the code."}, Focus: "code"},
		"name", "code", "label", "Code", "hint", "Six digits.", "type", "text", "inputmode", "numeric",
		"autocomplete", "one-time-code", "required", true, "maxlength", 7, "class", "code", "trim", "code", "countdown", true)
	if err != nil {
		t.Fatal(err)
	}
	got := render(f)
	for _, want := range []string{
		`<label for="code">Code</label>`,
		`<p class="hint" id="code-hint">Six digits.</p>`,
		`<input id="code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric" required maxlength="7" class="code" data-trim="code" autofocus aria-describedby="code-hint code-error" aria-invalid="true">`,
		`<p class="field-error" id="code-error">Enter the code.</p>`,
		`<p class="hint countdown" data-countdown hidden aria-hidden="true"></p>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered field lacks %s:\n%s", want, got)
		}
	}

	f, err = newField(&view{}, "id", "email", "label", "Email", "type", "email", "value", `a"b@example.com`, "readonly", true)
	if err != nil {
		t.Fatal(err)
	}
	got = render(f)
	if want := `<input id="email" type="email" value="a&#34;b@example.com" readonly>`; !strings.Contains(got, want) {
		t.Errorf("read-only field:\n%s\nwant %s", got, want)
	}
	for _, absent := range []string{"name=", "aria-invalid", "aria-describedby", "field-error", "hint"} {
		if strings.Contains(got, absent) {
			t.Errorf("read-only field without hint or problem has %q:\n%s", absent, got)
		}
	}

	// A textarea holds its value (escaped) as its content, and is wired
	// to its hint and message the same way.
	f, err = newField(&view{Errors: map[string]string{"uris": "Not https."}, Focus: "uris"},
		"name", "uris", "label", "URIs", "hint", "One per line.", "type", "textarea", "rows", 3, "required", true,
		"value", "http://a.example/cb\n</textarea><b>")
	if err != nil {
		t.Fatal(err)
	}
	got = render(f)
	for _, want := range []string{
		`<label for="uris">URIs</label>`,
		`<textarea id="uris" name="uris" rows="3" required autofocus aria-describedby="uris-hint uris-error" aria-invalid="true">http://a.example/cb` + "\n" + `&lt;/textarea&gt;&lt;b&gt;</textarea>`,
		`<p class="field-error" id="uris-error">Not https.</p>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered textarea lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<input") || strings.Contains(got, "type=") {
		t.Errorf("a textarea field drew an input or a type:\n%s", got)
	}
}

// Every visible input and textarea of every page comes from the field
// partial: a page cannot grow a field that skips its label, hint and aria
// wiring.
func TestEveryInputIsAField(t *testing.T) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	input := regexp.MustCompile(`<(?:input|textarea)\b[^>]*>`)
	fields := 0
	for _, file := range files {
		b, err := fs.ReadFile(templateFS, file)
		if err != nil {
			t.Fatal(err)
		}
		fields += strings.Count(string(b), `{{- template "field"`)
		if file == "templates/partials.html" {
			continue
		}
		for _, in := range input.FindAllString(string(b), -1) {
			if !strings.Contains(in, `type="hidden"`) {
				t.Errorf("%s: %s is not drawn by the field partial", file, in)
			}
		}
	}
	if fields < len(fieldOrder) {
		t.Errorf("%d fields drawn with the partial; want at least one for each of the %d forms", fields, len(fieldOrder))
	}
}

// After a wrong email or password, both sign-in fields point at the
// message about the form, and neither is marked invalid: the page does not
// say which of the two was wrong.
func TestSignInFieldsPointAtTheFormMessage(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	page := b.page("/signin")
	wantNoText(t, page, "aria-describedby", "aria-invalid")
	r := b.post("/signin", url.Values{"email": {testEmail}, "password": {"not it at all"}})
	wantStatus(t, r, http.StatusUnauthorized)
	for _, id := range []string{"email", "password"} {
		in := regexp.MustCompile(`<input id="` + id + `"[^>]*>`).FindString(r.body)
		if !strings.Contains(in, ` aria-describedby="form-message"`) || strings.Contains(in, "aria-invalid") {
			t.Errorf("after a wrong password, input %s = %s; want it described by the form message, not invalid", id, in)
		}
	}
	wantText(t, r, `id="form-message"`)
}
