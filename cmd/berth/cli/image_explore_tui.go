package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/layer"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// exploreInteractive runs the layer explorer full screen until q, Ctrl-C,
// SIGTERM or ctx ends.
func exploreInteractive(ctx context.Context, x *engine.ExploredImage, opts *exploreOptions) error {
	m := &exploreModel{x: x, title: exploreTitle(x, opts.image), width: 100, height: 30}
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithAltScreen(), tea.WithInput(opts.in), tea.WithOutput(opts.out))
	_, err := p.Run()
	// SIGINT and SIGTERM end the program (bubbletea handles both): that is
	// a normal way out, like q.
	if err != nil && ctx.Err() == nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrInterrupted) {
		return fmt.Errorf("image explore: %w", err)
	}
	return nil
}

// exploreModel is the explorer's state: the selected layer, which pane has
// the keys, the file pane's scroll position.
type exploreModel struct {
	x             *engine.ExploredImage
	title         string
	layer         int
	files         bool // the file pane has the keys
	wastedOnly    bool
	top           int // first file line shown
	width, height int
}

var (
	exploreBorder  = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	exploreFocus   = exploreBorder.BorderForeground(lipgloss.Color("12"))
	exploreSel     = lipgloss.NewStyle().Reverse(true)
	exploreAdded   = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	exploreChanged = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	exploreDeleted = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	exploreWasted  = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	exploreHelp    = lipgloss.NewStyle().Faint(true)
)

func (m *exploreModel) Init() tea.Cmd { return nil }

func (m *exploreModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		return m, m.key(msg.String())
	}
	return m, nil
}

// key applies one key press.
func (m *exploreModel) key(k string) tea.Cmd {
	page := max(1, m.fileRows()-1)
	switch k {
	case "q", "ctrl+c", "esc":
		return tea.Quit
	case "tab", "right", "left", "l", "h":
		m.files = !m.files
	case "w":
		m.wastedOnly = !m.wastedOnly
		m.top = 0
	case "up", "k":
		if m.files {
			m.top = max(0, m.top-1)
		} else if m.layer > 0 {
			m.layer, m.top = m.layer-1, 0
		}
	case "down", "j":
		if m.files {
			m.top = min(max(0, len(m.shown())-1), m.top+1)
		} else if m.layer < len(m.x.Layers)-1 {
			m.layer, m.top = m.layer+1, 0
		}
	case "pgdown", " ":
		m.top = min(max(0, len(m.shown())-1), m.top+page)
	case "pgup":
		m.top = max(0, m.top-page)
	}
	return nil
}

// shown are the selected layer's files the pane lists.
func (m *exploreModel) shown() []engine.ExploredFile {
	files := m.x.Layers[m.layer].Files
	if !m.wastedOnly {
		return files
	}
	var out []engine.ExploredFile
	for _, f := range files {
		if f.Hidden && !f.Dir {
			out = append(out, f)
		}
	}
	return out
}

// fileRows is how many file lines fit under the title, borders and help.
func (m *exploreModel) fileRows() int { return max(3, m.height-8) }

func (m *exploreModel) View() string {
	leftW := max(30, m.width*2/5)
	rightW := max(30, m.width-leftW-4)
	var left []string
	for i, l := range m.x.Layers {
		// The marker shows the selection without color (NO_COLOR, a
		// monochrome projector); reverse video adds to it.
		line := clipTo("  "+exploreLayerLine(m.x, l), leftW-2)
		if i == m.layer {
			line = exploreSel.Render(clipTo("▸ "+exploreLayerLine(m.x, l), leftW-2))
		}
		left = append(left, line)
	}
	sel := m.x.Layers[m.layer]
	left = append(left, "", exploreHelp.Render(clipTo("created by:", leftW-2)))
	left = append(left, wrapTo(orDash(sel.CreatedBy), leftW-2, 4)...)
	right := []string{fmt.Sprintf("Files of layer %d/%d%s", sel.Index+1, len(m.x.Layers), map[bool]string{true: " (wasted only)"}[m.wastedOnly])}
	files := m.shown()
	end := min(len(files), m.top+m.fileRows())
	for _, f := range files[m.top:end] {
		right = append(right, m.fileLine(f, rightW-2))
	}
	if len(files) == 0 {
		right = append(right, exploreHelp.Render("(no files)"))
	}
	lb, rb := exploreFocus, exploreBorder
	if m.files {
		lb, rb = exploreBorder, exploreFocus
	}
	h := m.fileRows() + 1
	body := lipgloss.JoinHorizontal(lipgloss.Top,
		lb.Width(leftW).Height(h).Render(strings.Join(left, "\n")),
		rb.Width(rightW).Height(h).Render(strings.Join(right, "\n")))
	help := exploreHelp.Render("↑/↓ layer · Tab files · PgUp/PgDn scroll · w wasted only · q quit")
	return clipTo(m.title, m.width) + "\n" + body + "\n" + help
}

// fileLine colors one file of the tree by its mark.
func (m *exploreModel) fileLine(f engine.ExploredFile, width int) string {
	text := clipTo(fmt.Sprintf("%s %8s  %s", f.Kind, fileSize(f), treeLabel(f)), width-9)
	style := exploreAdded
	switch f.Kind {
	case layer.ChangeModify:
		style = exploreChanged
	case layer.ChangeDelete:
		style = exploreDeleted
	}
	line := style.Render(text)
	if f.Hidden && !f.Dir {
		line += " " + exploreWasted.Render("wasted")
	}
	return line
}

func clipTo(s string, n int) string {
	r := []rune(s)
	if n <= 1 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wrapTo cuts s into at most lines pieces of width n.
func wrapTo(s string, n, lines int) []string {
	r := []rune(s)
	var out []string
	for len(r) > 0 && len(out) < lines {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	if len(r) > 0 && len(out) > 0 {
		out[len(out)-1] = clipTo(out[len(out)-1]+"…", n)
	}
	return out
}
