package dev.cutover.spring.boot.app;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/** An application with nothing of its own: its database, migrations, health and metrics are all configuration. */
@SpringBootApplication
public class DocumentedApplication {}
