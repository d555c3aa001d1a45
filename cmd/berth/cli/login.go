package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// loginOptions are `berth login`'s arguments.
type loginOptions struct {
	server        string
	username      string
	password      string
	passwordStdin bool
	insecure      []string
	stdin         io.Reader
	out, errOut   io.Writer
}

func newLoginCmd(g *globalOptions) *cobra.Command {
	opts := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Long: `Check a username and password against a registry and store them where
docker login does ($DOCKER_CONFIG/config.json or ~/.docker/config.json, or
the credential helper it names), so berth and Docker share them. Without
SERVER, Docker Hub.`,
		Example: `  berth login localhost:5000
  echo "$TOKEN" | berth login -u ann --password-stdin registry.example.com
  berth login -u ann docker.io`,
		Args: requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.server = args[0]
			}
			opts.stdin, opts.out, opts.errOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runLogin(cmd.Context(), g, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.username, "username", "u", "", "username")
	f.StringVarP(&opts.password, "password", "p", "", "password")
	f.BoolVar(&opts.passwordStdin, "password-stdin", false, "take the password from stdin")
	stringArrayVarP(f, &opts.insecure, "insecure-registry", "", "allow plain HTTP or unverified TLS to this registry (host:port or CIDR)")
	return cmd
}

func runLogin(ctx context.Context, g *globalOptions, opts *loginOptions) error {
	if opts.password != "" {
		fmt.Fprintln(opts.errOut, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if opts.passwordStdin {
			return errors.New("--password and --password-stdin are mutually exclusive")
		}
	}
	in := bufio.NewReader(opts.stdin)
	if opts.passwordStdin {
		if opts.username == "" {
			return errors.New("Must provide --username with --password-stdin")
		}
		data, err := io.ReadAll(in)
		if err != nil {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		opts.password = strings.TrimRight(string(data), "\r\n")
	}
	interactive := isTerminalReader(opts.stdin)
	if opts.username == "" {
		if !interactive {
			return errors.New("Cannot perform an interactive login from a non TTY device")
		}
		prompt := "Username: "
		if stored := engine.StoredUsername(opts.server); stored != "" {
			prompt = fmt.Sprintf("Username (%s): ", stored)
			opts.username = stored
		}
		fmt.Fprint(opts.out, prompt)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read username: %w", err)
		}
		if line = strings.TrimSpace(line); line != "" {
			opts.username = line
		}
		if opts.username == "" {
			return errors.New("Username is required")
		}
	}
	if opts.password == "" {
		if !interactive {
			return errors.New("Cannot perform an interactive login from a non TTY device")
		}
		fmt.Fprint(opts.out, "Password: ")
		pw, err := term.ReadPassword(int(opts.stdin.(*os.File).Fd()))
		fmt.Fprintln(opts.out)
		if err != nil {
			return fmt.Errorf("read password: %w", err)
		}
		opts.password = string(pw)
		if opts.password == "" {
			return errors.New("Password is required")
		}
	}
	res, err := engine.Login(ctx, g.root, engine.LoginOptions{
		Server:             opts.server,
		Username:           opts.username,
		Password:           opts.password,
		InsecureRegistries: opts.insecure,
	})
	if err != nil {
		return err
	}
	if res.Helper == "" {
		fmt.Fprintf(opts.errOut, "WARNING! Your credentials are stored unencrypted in '%s'.\n"+
			"Configure a credential helper to remove this warning. See\n"+
			"https://docs.docker.com/go/credential-store/\n\n", res.File)
	}
	fmt.Fprintln(opts.out, "Login Succeeded")
	return nil
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logoutOptions are `berth logout`'s arguments.
type logoutOptions struct {
	server string
	out    io.Writer
}

func newLogoutCmd(g *globalOptions) *cobra.Command {
	opts := &logoutOptions{}
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Long: `Remove the credentials stored for a registry (Docker Hub without SERVER),
from config.json or its credential helper.`,
		Example: `  berth logout localhost:5000
  berth logout`,
		Args: requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.server = args[0]
			}
			opts.out = cmd.OutOrStdout()
			return runLogout(opts)
		},
	}
}

func runLogout(opts *logoutOptions) error {
	host, found, err := engine.Logout(opts.server)
	shown := host
	if host == "docker.io" {
		shown = "https://index.docker.io/v1/"
	}
	if err != nil {
		return err
	}
	if !found {
		fmt.Fprintf(opts.out, "Not logged in to %s\n", shown)
		return nil
	}
	fmt.Fprintf(opts.out, "Removing login credentials for %s\n", shown)
	return nil
}
