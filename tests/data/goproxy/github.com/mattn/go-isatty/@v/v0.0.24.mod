module github.com/mattn/go-isatty

go 1.20

require golang.org/x/sys v0.28.0
