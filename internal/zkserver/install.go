package zkserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Where Debian's packages put the jars. The zookeeper jar's manifest carries
// the Class-Path of its own dependencies; the slf4j binding and log4j 1.2 are
// added so that the server's log goes where the harness says.
var (
	zookeeperJar = "/usr/share/java/zookeeper.jar"
	loggingJars  = []string{
		"/usr/share/java/slf4j-log4j12.jar",
		"/usr/share/java/log4j-1.2.jar",
	}
	javaName = "java"
)

// installHint is part of every error about a missing installation.
const installHint = "ZooKeeper 3.8 and a JRE are needed to run these tests: apt-get install zookeeper"

// install is a located ZooKeeper installation.
type install struct {
	java      string // path of the java binary
	classpath string
}

// findInstall locates java and the ZooKeeper jars. Its error always says
// how to install what is missing.
func findInstall() (install, error) {
	var in install
	if _, err := os.Stat(zookeeperJar); err != nil {
		return in, fmt.Errorf("zkserver: ZooKeeper jar not found (%w); %s", err, installHint)
	}
	java, err := findJava()
	if err != nil {
		return in, fmt.Errorf("zkserver: %w; %s", err, installHint)
	}
	cp := []string{zookeeperJar}
	for _, j := range loggingJars {
		if _, err := os.Stat(j); err != nil {
			return in, fmt.Errorf("zkserver: logging jar not found (%w); %s", err, installHint)
		}
		cp = append(cp, j)
	}
	in.java = java
	in.classpath = strings.Join(cp, string(os.PathListSeparator))
	return in, nil
}

// findJava prefers $JAVA_HOME/bin/java, then java on $PATH.
func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(javaName)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("java not found on PATH: %w", err)
		}
		return "", fmt.Errorf("looking for java: %w", err)
	}
	return p, nil
}
