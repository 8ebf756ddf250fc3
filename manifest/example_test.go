package manifest_test

import (
	"errors"
	"fmt"

	"github.com/troupe-go/troupe/manifest"
)

func ExampleParse() {
	app, err := manifest.Parse("troupe.yaml", []byte(`
app: demo
services:
  hello:
    receives: [Hello]
gateway:
  routes:
    - path: /
      types: [Hello]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range app.Services {
		fmt.Printf("%s sends %v, receives %v\n", s.Name, s.Sends, s.Receives)
	}
	// Output:
	// hello sends [], receives [Hello]
	// gateway sends [Hello], receives []
}

func ExampleParse_errors() {
	_, err := manifest.Parse("troupe.yaml", []byte(`
app: demo
services:
  Hello:
    recieves: [Hello]
`))
	var errs manifest.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// troupe.yaml:4:3: service name "Hello" may hold only lower-case letters, digits and '-'
	// troupe.yaml:5:5: unknown key "recieves" in service "Hello"; known keys: sends, receives, durable, broadcast, instances, command, env, translate, calls, edge
}

func ExampleLint() {
	app, err := manifest.Parse("troupe.yaml", []byte(`
app: demo
services:
  web:
    sends: [todo.list, todo.lsit]
  todo:
    receives: [todo.list]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range manifest.Lint(app) {
		fmt.Println(w)
	}
	// Output:
	// troupe.yaml:5:24: warning: message "todo.lsit" is sent by web but received by no service
}
