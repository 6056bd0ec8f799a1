package web

import (
	"fmt"
	"strings"
)

// formField is what the "field" partial (templates/partials.html) renders:
// a label, an optional hint, the input and the message about it, wired
// together the same way on every form. Pages build one with the template
// function field, which reads the problem and the focus from the view.
type formField struct {
	ID    string // the input's id; the hint is ID-hint, the message ID-error
	Name  string // "" for a field that is shown, not submitted
	Label string
	Hint  string

	Type, Autocomplete, InputMode, Value string
	// Autocapitalize and Spellcheck are "none" and "false" on fields that
	// take codes, which are not words.
	Autocapitalize, Spellcheck string
	Class                      string
	Trim                       string // data-trim: how app.js tidies a paste ("code", "space")
	MinLength, MaxLength       int
	// Rows is the height of a field of type "textarea", which the
	// partial draws as a <textarea> holding Value.
	Rows               int
	Required, ReadOnly bool
	Checked            bool // a checkbox that is ticked
	// Countdown adds the hint, filled in by app.js, that says when the
	// authenticator's code changes.
	Countdown bool

	Error     string // the problem with this field, from view.Errors
	Autofocus bool   // view.Focus names this field
	// DescribedBy lists the ids the input points at with
	// aria-describedby: the hint, any others the page names (the message
	// about the whole form on sign-in), then the error.
	DescribedBy string
}

// newField is the template function field: v is the page's view, then
// key-value pairs. "name" sets the input's id and name; "id" alone makes a
// field that is not submitted. An unknown key or a value of the wrong
// type fails the render, so a typo in a template shows up in the page tests.
func newField(v *view, pairs ...any) (formField, error) {
	var f formField
	if len(pairs)%2 != 0 {
		return f, fmt.Errorf("field: odd number of arguments (%d): want key-value pairs", len(pairs))
	}
	var describedBy []string
	for i := 0; i < len(pairs); i += 2 {
		key, ok := pairs[i].(string)
		if !ok {
			return f, fmt.Errorf("field: argument %d is %T, not a key", i, pairs[i])
		}
		value := pairs[i+1]
		var err error
		switch key {
		case "name":
			err = setString(&f.Name, key, value)
			f.ID = f.Name
		case "id":
			err = setString(&f.ID, key, value)
		case "label":
			err = setString(&f.Label, key, value)
		case "hint":
			err = setString(&f.Hint, key, value)
		case "type":
			err = setString(&f.Type, key, value)
		case "autocomplete":
			err = setString(&f.Autocomplete, key, value)
		case "inputmode":
			err = setString(&f.InputMode, key, value)
		case "value":
			err = setString(&f.Value, key, value)
		case "autocapitalize":
			err = setString(&f.Autocapitalize, key, value)
		case "spellcheck":
			err = setString(&f.Spellcheck, key, value)
		case "class":
			err = setString(&f.Class, key, value)
		case "trim":
			err = setString(&f.Trim, key, value)
		case "describedby":
			// Empty is allowed, so that a page can pass (and .Message "form-message").
			var id string
			if err = setString(&id, key, value); err == nil && id != "" {
				describedBy = append(describedBy, id)
			}
		case "minlength":
			err = setInt(&f.MinLength, key, value)
		case "maxlength":
			err = setInt(&f.MaxLength, key, value)
		case "rows":
			err = setInt(&f.Rows, key, value)
		case "required":
			err = setBool(&f.Required, key, value)
		case "readonly":
			err = setBool(&f.ReadOnly, key, value)
		case "checked":
			err = setBool(&f.Checked, key, value)
		case "countdown":
			err = setBool(&f.Countdown, key, value)
		default:
			err = fmt.Errorf("field: unknown key %q", key)
		}
		if err != nil {
			return f, err
		}
	}
	if f.ID == "" || f.Label == "" || f.Type == "" {
		return f, fmt.Errorf("field %q: want at least a name (or id), a label and a type", f.ID)
	}
	if f.Rows != 0 && f.Type != "textarea" {
		return f, fmt.Errorf("field %q: rows is for a textarea, not type %q", f.ID, f.Type)
	}
	if v != nil {
		f.Error = v.Errors[f.ID]
		f.Autofocus = v.Focus != "" && v.Focus == f.ID
	}
	ids := make([]string, 0, len(describedBy)+2)
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	ids = append(ids, describedBy...)
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	f.DescribedBy = strings.Join(ids, " ")
	return f, nil
}

func setString(p *string, key string, value any) error {
	if value == nil {
		// A missing value: .Form.name on a page with no form values.
		*p = ""
		return nil
	}
	s, ok := value.(string)
	if !ok {
		return fmt.Errorf("field: %s is %T, want a string", key, value)
	}
	*p = s
	return nil
}

func setInt(p *int, key string, value any) error {
	n, ok := value.(int)
	if !ok {
		return fmt.Errorf("field: %s is %T, want a number", key, value)
	}
	*p = n
	return nil
}

func setBool(p *bool, key string, value any) error {
	b, ok := value.(bool)
	if !ok {
		return fmt.Errorf("field: %s is %T, want true or false", key, value)
	}
	*p = b
	return nil
}
