module github.com/pkg/errors
