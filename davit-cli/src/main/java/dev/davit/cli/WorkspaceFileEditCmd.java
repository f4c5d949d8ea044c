package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit workspace file edit}: replace exact text of a file of /workspace ({@link WorkspaceFiles#edit}). */
@Command(name = "edit", mixinStandardHelpOptions = true, description = {"Replace text of a file of /workspace: the"
        + " text to replace must be in it exactly once (or give --all).",
    "Found nowhere or more than once, nothing changes (exit 8) and the error says how many times and on which"
        + " lines."})
final class WorkspaceFileEditCmd extends WorkspaceCommand.IdCmd {
    @Parameters(index = "1", paramLabel = "PATH", description = "Relative to /workspace (UTF-8 text).")
    String path;

    @Option(names = "--old", paramLabel = "TEXT", description = "The exact text to replace.")
    String oldText;

    @Option(names = "--old-file", paramLabel = "FILE", description = "Read the text to replace from this host file.")
    Path oldFile;

    @Option(names = "--new", paramLabel = "TEXT", description = "The text to put in its place (empty: remove it).")
    String newText;

    @Option(names = "--new-file", paramLabel = "FILE", description = "Read the text to put in its place from this"
            + " host file.")
    Path newFile;

    @Option(names = "--replace-all", description = "Replace every occurrence.")
    boolean replaceAll;

    @Option(names = "--all", hidden = true, description = CliArgs.DEPRECATED + "--replace-all.")
    boolean all;

    @Override
    protected int run(Output out) {
        String from = text(oldText, oldFile, "--old", "--old-file");
        String to = text(newText, newFile, "--new", "--new-file");
        WorkspaceFiles.Edited e = WorkspaceCommand.workspaces(main).files().edit(id, path, from, to,
                CliArgs.renamed(out, "--all", all, "--replace-all", replaceAll));
        ObjectNode doc = Json.object();
        doc.put("path", e.path());
        doc.put("replacements", e.replacements());
        doc.put("line", e.line());
        out.result(doc, p -> p.println("replaced " + e.replacements() + " occurrence" + (e.replacements() == 1 ? ""
                : "s") + " in /workspace/" + e.path() + " (first at line " + e.line() + ")"));
        return 0;
    }

    /** The text of option {@code flag} or of the file of {@code fileFlag}: one of the two. */
    private static String text(String given, Path file, String flag, String fileFlag) {
        if ((given == null) == (file == null)) {
            throw new DavitException(DavitException.Kind.USAGE, "give " + flag + " TEXT or " + fileFlag
                    + " FILE, one of the two");
        }
        if (given != null) {
            return given;
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DavitException(DavitException.Kind.USAGE, "cannot read " + fileFlag + " " + file + ": "
                    + e.getMessage());
        }
    }
}
