package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code davit workspace file ls|read|write} ({@code file edit}: {@link WorkspaceFileEditCmd}), {@code push},
 * {@code export} and {@code patch}: the files of a running workspace's /workspace, and copies between it and the
 * host. {@link WorkspaceDiskCommands} reads a stopped one's with the same arguments and output.
 */
final class WorkspaceFileCommands {
    private WorkspaceFileCommands() {
    }

    @Command(name = "file", mixinStandardHelpOptions = true,
            description = "Files in /workspace: ls, read, write (paths relative to /workspace; no .., no links out).",
            subcommands = {FileLsCmd.class, FileReadCmd.class, FileWriteCmd.class, WorkspaceFileEditCmd.class})
    static final class FileCmd extends GroupCommand {
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List a directory of /workspace.")
    static class FileLsCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", arity = "0..1", paramLabel = "PATH", description = "Relative to /workspace"
                + " (default: /workspace itself).")
        String path;

        @Option(names = {"-r", "--recursive"}, description = "Everything below it.")
        boolean recursive;

        @Override
        protected int run(Output out) {
            return printFiles(out, list(WorkspaceCommand.workspaces(main)));
        }

        List<WorkspaceFiles.FileInfo> list(Workspaces ws) {
            return ws.files().list(id, path, recursive);
        }
    }

    /** A listing as {@code workspace file ls} prints it ({@code files}: path, type, size, mode, target). */
    static int printFiles(Output out, List<WorkspaceFiles.FileInfo> files) {
        ObjectNode doc = WorkspaceJson.files(files);
        out.result(doc, p -> files.forEach(f -> p.printf("%-7s %04o %10d %s%s%n", f.type(), f.mode(), f.size(),
                Text.escaped(f.path(), false), f.target() == null ? "" : " -> " + Text.escaped(f.target(), false))));
        return 0;
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = "Print a file of /workspace (raw bytes;"
            + " base64 in --json).")
    static class FileReadCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "PATH", description = "Relative to /workspace.")
        String path;

        @Option(names = "--max-bytes", paramLabel = "N", description = "Read at most N bytes (default: all of a file"
                + " up to 64 MiB; a larger one needs this).")
        long maxBytes;

        @Option(names = "--offset", paramLabel = "N", description = "From this byte (default 0): with --max-bytes,"
                + " a page; --json's next_offset is where the next one starts.")
        long offset;

        @Override
        protected int run(Output out) {
            if (offset < 0 || maxBytes < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--offset and --max-bytes take 0 or more");
            }
            return printContent(out, path, read(WorkspaceCommand.workspaces(main)));
        }

        WorkspaceFiles.FileContent read(Workspaces ws) {
            return ws.files().read(id, path, offset, maxBytes);
        }
    }

    /** A file's content as {@code workspace file read} prints it (raw; JSON: size, truncated, content_base64). */
    static int printContent(Output out, String path, WorkspaceFiles.FileContent c) {
        if (out.json()) {
            ObjectNode doc = Json.object();
            doc.put("path", path);
            doc.put("size", c.size());
            doc.put("truncated", c.truncated());
            doc.put("redacted", c.redacted());
            doc.put("offset", c.offset());
            doc.put("next_offset", c.end());
            doc.put("content_base64", Base64.getEncoder().encodeToString(c.bytes()));
            out.printJson(doc);
        } else {
            out.raw(c.bytes());
            if (c.redacted()) {
                out.notice("a secret value in " + path + " is shown as [REDACTED:NAME]: these are not the file's"
                        + " bytes");
            }
        }
        return 0;
    }

    @Command(name = "write", mixinStandardHelpOptions = true, description = "Write a file of /workspace from"
            + " stdin or --from, atomically; missing parent directories are created.")
    static final class FileWriteCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "PATH", description = "Relative to /workspace.")
        String path;

        @Option(names = "--from", paramLabel = "FILE", description = "Read the content from this host file"
                + " (default: stdin).")
        Path from;

        @Override
        protected int run(Output out) {
            long n;
            try (InputStream in = from == null ? System.in : Files.newInputStream(from)) {
                n = WorkspaceCommand.workspaces(main).files().write(id, path, in);
            } catch (IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "cannot read " + from + ": " + e.getMessage());
            }
            ObjectNode doc = Json.object();
            doc.put("path", path);
            doc.put("bytes", n);
            out.result(doc, p -> p.println(n + " bytes written to /workspace/" + path));
            return 0;
        }
    }

    static ObjectNode copiedJson(WorkspaceFiles.Copied c) {
        return WorkspaceJson.copied(c);
    }

    @Command(name = "push", mixinStandardHelpOptions = true,
            description = {"Copy a host file or directory into /workspace, replacing what is at DEST.",
                "Links inside a directory are copied as links; missing parent directories are created."})
    static final class PushCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "HOST_PATH", description = "The host file or directory.")
        Path hostPath;

        @Parameters(index = "2", arity = "0..1", paramLabel = "DEST", description = "Where, relative to /workspace"
                + " (default: HOST_PATH's name at the top).")
        String dest;

        @Override
        protected int run(Output out) {
            WorkspaceFiles.Copied c = WorkspaceCommand.workspaces(main).files().push(id, hostPath, dest);
            out.result(copiedJson(c), p -> p.println(c.files() + " entries (" + c.bytes() + " bytes) pushed to "
                    + Workspaces.MOUNT + "/" + c.path()));
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Copy /workspace (or --path in it) to a new or empty host directory, or to a .tar file.",
                "Links are copied as links, never followed; devices are left out; no setuid/setgid bits."})
    static class ExportCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "HOST_DEST", description = "A host directory that does not exist or"
                + " is empty, or a file ending in .tar.")
        Path hostDest;

        @Option(names = "--path", paramLabel = "P", description = "Export only this path, relative to /workspace"
                + " (a file lands under its own name).")
        String path;

        @Override
        protected int run(Output out) {
            return printExport(out, copy(WorkspaceCommand.workspaces(main), (entries, bytes) -> out.notice(
                    "exporting: " + entries + " entries, " + (bytes >> 20) + " MiB copied so far")), hostDest);
        }

        /** The copy, telling {@code progress} how far it got (about once a second) where it can. */
        WorkspaceFiles.Copied copy(Workspaces ws, WorkspaceFiles.Progress progress) {
            return ws.files().export(id, hostDest, path, progress);
        }
    }

    /** What an export copied, as {@code workspace export} prints it ({@link #copiedJson} and {@code dest}). */
    static int printExport(Output out, WorkspaceFiles.Copied c, Path hostDest) {
        ObjectNode doc = copiedJson(c);
        doc.put("dest", hostDest.toAbsolutePath().normalize().toString());
        out.result(doc, p -> {
            p.println(c.files() + " entries (" + c.bytes() + " bytes) exported to " + hostDest);
            c.skipped().forEach(s -> p.println("skipped " + Text.escaped(s, false) + " (device, fifo or socket)"));
        });
        return 0;
    }

    @Command(name = "patch", mixinStandardHelpOptions = true,
            description = {"Apply a unified diff (git diff, diff -u) inside /workspace, all or nothing.",
                "Context must match exactly (no fuzz); a failing hunk changes nothing and is named."})
    static final class PatchCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "PATCH_FILE", description = "The patch file, or - for stdin.")
        String patchFile;

        @Override
        protected int run(Output out) {
            byte[] patch;
            try {
                patch = patchFile.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(patchFile));
            } catch (IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "cannot read the patch " + patchFile + ": "
                        + e.getMessage());
            }
            WorkspaceFiles.Patched applied = WorkspaceCommand.workspaces(main).files().applyPatch(id, patch);
            Map<String, String> changed = applied.changes();
            applied.notes().forEach(n -> out.notice("note: " + n));
            out.result(WorkspaceJson.patched(applied), p -> changed.forEach((path, kind) -> p.println(switch (kind) {
                case "added" -> "A ";
                case "deleted" -> "D ";
                default -> "C ";
            } + Text.escaped(path, false))));
            return 0;
        }
    }
}
