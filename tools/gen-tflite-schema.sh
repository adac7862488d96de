#!/usr/bin/env bash
# Regenerates the C# accessors for src/EdgeInfer.Converter/Importers/TfLite/tflite_subset.fbs.
# Needs flatc (Debian: apt-get install flatbuffers-compiler). The output is committed, so a build never needs flatc.
#
# Debian 12 ships flatc 2.0.8; the NuGet registry serves the Google.FlatBuffers 25.2.10 runtime. Their C# differs in
# two names only: the runtime's namespace (FlatBuffers became Google.FlatBuffers in 22.9) and the version stamp each
# table calls (FlatBufferConstants.FLATBUFFERS_x_y_z, which exists to make a mismatch fail to compile). The accessor
# API the generated structs use (__offset, __vector, __vector_len, __union, __string) is the same in both, so those
# two names are rewritten below. The structs are made internal: they are the importer's, not the converter's API.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$here/src/EdgeInfer.Converter/Importers/TfLite"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flatc --csharp -o "$out" "$dir/tflite_subset.fbs"
rm -rf "$dir/Schema"
mkdir -p "$dir/Schema"
for f in "$out"/EdgeInfer/Converter/Importers/TfLite/Schema/*.cs; do
  sed -e 's/global::FlatBuffers;/global::Google.FlatBuffers;/' \
      -e 's/FlatBufferConstants\.FLATBUFFERS_[0-9_]*()/FlatBufferConstants.FLATBUFFERS_25_2_10()/' \
      -e 's/^public \(struct\|enum\|class\)/internal \1/' \
      "$f" > "$dir/Schema/$(basename "$f")"
done
echo "wrote $(ls "$dir/Schema" | wc -l) files to $dir/Schema"
