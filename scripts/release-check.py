#!/usr/bin/env python3
"""Checks a staged release (a directory repository that `mvn -P release deploy` filled) against Maven Central's rules:
release-check.py STAGED_REPO REPO_ROOT KEY_FINGERPRINT. scripts/release-check.sh makes the tree and runs this.

For each dev.davit artifact: a pom with groupId, artifactId, version, name, description, url, a licence (name, url),
a developer and scm (url, connection), its own or its parent's as Central reads them; for jar packaging the jar,
its -sources.jar (with .java files) and -javadoc.jar (with HTML), and a jar that names its module (module-info.class
or Automatic-Module-Name); for every file an .asc that gpg verifies as the given key's, and .md5 and .sha1 that
match. The staged artifacts are the BOM's list: every entry whose module is in the reactor, and nothing else (the
BOM's entries for modules still to come are only noted). Prints one line per problem, then a one-line verdict, and
exits 1 when there is a problem."""
import hashlib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

GROUP = "dev.davit"
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# davit-parent: the modules' parent, published for their poms to resolve; davit-bom: the list itself
NOT_IN_BOM = {"davit-parent", "davit-bom"}

problems = []


def problem(where, what):
    problems.append(f"release-check: {where}: {what}")


def text(elem, path):
    found = elem.find(path, NS) if elem is not None else None
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def staged_files(artifact_dir, artifact, version):
    """(classifier, extension) -> path of the files of one version, as its maven-metadata.xml names them (a
    SNAPSHOT's files carry a timestamp), or by the plain name for a release."""
    vdir = os.path.join(artifact_dir, version)
    files = {}
    if version.endswith("-SNAPSHOT"):
        meta = os.path.join(vdir, "maven-metadata.xml")
        if not os.path.isfile(meta):
            problem(f"{artifact}:{version}", "no maven-metadata.xml: the deploy did not finish; run the release again")
            return files
        for sv in ET.parse(meta).getroot().iterfind("versioning/snapshotVersions/snapshotVersion"):
            classifier, ext, value = sv.findtext("classifier") or "", sv.findtext("extension"), sv.findtext("value")
            if ext.endswith(".asc"):
                continue  # a signature, checked beside the file it signs
            name = f"{artifact}-{value}{'-' + classifier if classifier else ''}.{ext}"
            files[(classifier, ext)] = os.path.join(vdir, name)
    else:
        pattern = re.compile(re.escape(f"{artifact}-{version}") + r"(?:-([^.]+))?\.(jar|pom|zip|tar\.gz)$")
        for name in os.listdir(vdir):
            m = pattern.match(name)
            if m:
                files[(m.group(1) or "", m.group(2))] = os.path.join(vdir, name)
    return files


def load_poms(staged, version):
    """artifactId -> (parsed pom root, its files) for every staged dev.davit artifact."""
    group_dir = os.path.join(staged, *GROUP.split("."))
    if not os.path.isdir(group_dir):
        problem(staged, f"no {GROUP} artifact was staged: the deploy put nothing there; see its log")
        return {}
    poms = {}
    for artifact in sorted(os.listdir(group_dir)):
        adir = os.path.join(group_dir, artifact)
        versions = [v for v in os.listdir(adir) if os.path.isdir(os.path.join(adir, v))]
        if versions != [version]:
            problem(artifact, f"staged versions {versions}, not the project's {version} alone: stage into an empty "
                    "directory")
            continue
        files = staged_files(adir, artifact, version)
        pom = files.get(("", "pom"))
        if pom is None or not os.path.isfile(pom):
            problem(artifact, "no .pom staged")
            continue
        poms[artifact] = (ET.parse(pom).getroot(), files)
    return poms


def chain(poms, artifact):
    """The pom and its staged parents, nearest first (Central reads inherited metadata as Maven does)."""
    out, seen = [], set()
    while artifact in poms and artifact not in seen:
        seen.add(artifact)
        root = poms[artifact][0]
        out.append(root)
        parent = root.find("m:parent", NS)
        if parent is None:
            break
        artifact = text(parent, "m:artifactId")
        if text(parent, "m:groupId") == GROUP and artifact not in poms:
            problem(out[0].findtext("m:artifactId", namespaces=NS), f"its parent {artifact} is not staged")
    return out


def inherited(roots, path):
    for root in roots:
        value = text(root, path)
        if value is not None:
            return value
    return None


def interpolate(roots, value, version):
    """${property} from the poms' properties (nearest first) and ${project.version}; None if one is unknown."""
    def one(m):
        name = m.group(1)
        if name in ("project.version", "version"):
            return version
        found = inherited(roots, f"m:properties/m:{name}")
        if found is None:
            raise KeyError(name)
        return found
    for _ in range(5):
        if "${" not in value:
            return value
        try:
            value = re.sub(r"\$\{([^}]+)\}", one, value)
        except KeyError:
            return None
    return None


def check_pom(poms, artifact, version):
    roots = chain(poms, artifact)
    own = roots[0]
    if text(own, "m:artifactId") != artifact:
        problem(artifact, f"its pom names artifactId {text(own, 'm:artifactId')}")
    group = text(own, "m:groupId") or text(own, "m:parent/m:groupId")
    if group != GROUP:
        problem(artifact, f"its pom's groupId is {group}, not {GROUP}")
    pom_version = text(own, "m:version") or text(own, "m:parent/m:version")
    if pom_version != version:
        problem(artifact, f"its pom's version is {pom_version}, not {version}")
    # a name is not inherited, and the parent's description says nothing of a module: each pom says what it is
    for field in ("name", "description"):
        if text(own, f"m:{field}") is None:
            problem(artifact, f"its pom has no <{field}>: add one to {artifact}/pom.xml")
    required = {
        "url": "m:url",
        "licence name": "m:licenses/m:license/m:name",
        "licence url": "m:licenses/m:license/m:url",
        "developer": "m:developers/m:developer/m:name",
        "scm url": "m:scm/m:url",
        "scm connection": "m:scm/m:connection",
    }
    for what, path in required.items():
        value = inherited(roots, path)
        if value is None:
            problem(artifact, f"no {what} in its pom or its parent's: Central requires it (the parent pom has them)")
        elif interpolate(roots, value, version) is None:
            problem(artifact, f"its {what} '{value}' names a property no pom defines")
    return text(own, "m:packaging") or "jar"


def names_module(path):
    with zipfile.ZipFile(path) as jar:
        names = set(jar.namelist())
        if "module-info.class" in names or any(re.match(r"META-INF/versions/\d+/module-info\.class$", n)
                                               for n in names):
            return True
        if "META-INF/MANIFEST.MF" not in names:
            return False
        manifest = jar.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
        return re.search(r"^Automatic-Module-Name: *\S", manifest, re.M) is not None


def holds(path, suffix):
    with zipfile.ZipFile(path) as jar:
        return any(n.endswith(suffix) for n in jar.namelist())


def check_jars(artifact, files):
    main, sources, javadoc = (files.get(key) for key in (("", "jar"), ("sources", "jar"), ("javadoc", "jar")))
    main, sources, javadoc = (path if path and os.path.isfile(path) else None for path in (main, sources, javadoc))
    if main is None:
        problem(artifact, "no jar staged for its jar packaging")
    elif not names_module(main):
        problem(artifact, "its jar has neither module-info.class nor an Automatic-Module-Name: set davit.module in "
                f"{artifact}/pom.xml")
    if sources is None:
        problem(artifact, "no -sources.jar staged: Central requires one (the parent's maven-source-plugin makes it)")
    elif not holds(sources, ".java"):
        problem(artifact, "its -sources.jar holds no .java file")
    if javadoc is None:
        problem(artifact, "no -javadoc.jar staged: Central requires one (the parent's maven-javadoc-plugin makes it)")
    elif not holds(javadoc, ".html"):
        problem(artifact, "its -javadoc.jar holds no HTML page")


def digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(artifact, path, fingerprint):
    name = os.path.basename(path)
    if not os.path.isfile(path):
        problem(artifact, f"{name} is in maven-metadata.xml but not staged")
        return
    for algorithm in ("md5", "sha1"):
        sum_file = f"{path}.{algorithm}"
        if not os.path.isfile(sum_file):
            problem(artifact, f"{name} has no .{algorithm}: Central requires one for every file")
            continue
        with open(sum_file) as f:
            recorded = (f.read().split() or [""])[0].lower()
        if recorded != digest(path, algorithm):
            problem(artifact, f"{name}.{algorithm} does not match the file: stage the release again")
    signature = f"{path}.asc"
    if not os.path.isfile(signature):
        problem(artifact, f"{name} has no .asc: Central requires a signature of every file (the release profile's "
                "maven-gpg-plugin makes them)")
        return
    run = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify", signature, path],
                         capture_output=True, text=True)
    signed_by = re.findall(r"^\[GNUPG:\] VALIDSIG (\S+)", run.stdout, re.M)
    if run.returncode != 0 or fingerprint.upper() not in (s.upper() for s in signed_by):
        problem(artifact, f"{name}.asc is not a valid signature by key {fingerprint}")


def bom_entries(poms):
    """The artifactIds the staged BOM manages; the BOM itself must stand alone (no parent, davit's entries only)."""
    if "davit-bom" not in poms:
        problem("davit-bom", "not staged: users import it (it is a module of the reactor)")
        return set()
    root = poms["davit-bom"][0]
    if root.find("m:parent", NS) is not None:
        problem("davit-bom", "its staged pom has a parent, whose dependencyManagement an import would bring along: "
                "flatten it (davit-bom/pom.xml's flatten-maven-plugin)")
    entries = set()
    for dep in root.iterfind("m:dependencyManagement/m:dependencies/m:dependency", NS):
        if text(dep, "m:groupId") != GROUP:
            problem("davit-bom", f"manages {text(dep, 'm:groupId')}:{text(dep, 'm:artifactId')}, not a davit artifact")
        entries.add(text(dep, "m:artifactId"))
    return entries


def reactor_artifacts(root_dir, pom_dir="."):
    """The artifactIds of the reactor's modules, following nested <modules>."""
    root = ET.parse(os.path.join(root_dir, pom_dir, "pom.xml")).getroot()
    found = {text(root, "m:artifactId")}
    for module in root.iterfind("m:modules/m:module", NS):
        found |= reactor_artifacts(root_dir, os.path.normpath(os.path.join(pom_dir, module.text.strip())))
    return found


def main():
    if len(sys.argv) != 4:
        print("usage: release-check.py STAGED_REPO REPO_ROOT KEY_FINGERPRINT", file=sys.stderr)
        return 2
    staged, root_dir, fingerprint = sys.argv[1:]
    version = text(ET.parse(os.path.join(root_dir, "pom.xml")).getroot(), "m:version")
    poms = load_poms(staged, version)
    checked = 0
    for artifact, (_, files) in poms.items():
        if check_pom(poms, artifact, version) == "jar":
            try:
                check_jars(artifact, files)
            except zipfile.BadZipFile as e:
                problem(artifact, f"a jar of it is not a readable zip ({e}): stage the release again")
        for path in files.values():
            check_file(artifact, path, fingerprint)
            checked += 1
    entries = bom_entries(poms)
    reactor = reactor_artifacts(root_dir)
    staged_set = set(poms) - NOT_IN_BOM
    for artifact in sorted(staged_set - entries):
        problem(artifact, "staged but not in davit-bom: add it to davit-bom/pom.xml, or set maven.deploy.skip in its "
                "pom if it is not to be published")
    for artifact in sorted((entries & reactor) - staged_set):
        problem(artifact, "in davit-bom and the reactor but not staged: publish it (no maven.deploy.skip) or drop it "
                "from davit-bom/pom.xml")
    to_come = sorted(entries - reactor)
    for line in problems:
        print(line)
    snapshot = (f"; {version} is a SNAPSHOT, which Central's release repository refuses: allowed for the staged tree"
                if version.endswith("-SNAPSHOT") else "")
    later = f"; in davit-bom, not yet modules: {', '.join(to_come)}" if to_come else ""
    if problems:
        print(f"release-check: FAILED, {len(problems)} problem(s) in {len(poms)} staged artifacts{snapshot}")
        return 1
    print(f"release-check: OK, {len(poms)} artifacts and {checked} files staged as Maven Central requires (poms' "
          f"metadata, sources and Javadoc jars, module names, signatures by the throwaway key, checksums), the BOM's "
          f"list exactly{later}{snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
