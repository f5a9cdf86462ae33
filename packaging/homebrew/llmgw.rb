# Homebrew formula for llmgw, in homebrew-core style.
#
# Homebrew 4.6 and later install formulae only from a tap: copy this file into a local one
# (brew tap-new --no-git local/llmgw), then brew install --build-from-source local/llmgw/llmgw,
# or --HEAD for the tip of the git tree. See README.md and packaging/README.md.
class Llmgw < Formula
  desc "Local gateway and command-line proxy for LLM APIs"
  homepage "https://github.com/llmgw/llmgw"
  # For a release, point url at the tarball of the tag and sha256 at its checksum:
  #   git archive --format=tar.gz --prefix=llmgw-0.1.0/ -o llmgw-0.1.0.tar.gz v0.1.0
  #   shasum -a 256 llmgw-0.1.0.tar.gz     (or: sha256sum llmgw-0.1.0.tar.gz)
  # With GitHub's tag archive, download .../archive/refs/tags/v0.1.0.tar.gz and hash that file.
  url "https://github.com/llmgw/llmgw/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  # license: the repository declares none yet; add `license "..."` (an SPDX id) when it does.
  head "https://github.com/llmgw/llmgw.git", branch: "main"

  depends_on "cmake" => :build
  # Header-only libraries, or compiled into the binary (fmt, spdlog, toml++): needed to
  # compile, not at run time.
  depends_on "boost" => :build # Beast and Asio (Boost::headers)
  depends_on "cli11" => :build
  depends_on "fmt" => :build
  depends_on "nlohmann-json" => :build
  depends_on "spdlog" => :build
  depends_on "tomlplusplus" => :build
  depends_on "mimalloc" # the binary's allocator (LLMGW_MIMALLOC; see BENCHMARKS.md)

  uses_from_macos "curl"

  def install
    # The test suite needs doctest; Homebrew runs the `test do` block below instead.
    system "cmake", "-S", ".", "-B", "build", "-DLLMGW_BUILD_TESTS=OFF", *std_cmake_args
    system "cmake", "--build", "build"
    # Installs bin/llmgw, share/llmgw/services.toml, the man pages (man1, man5) and the
    # bash, zsh and fish completions.
    system "cmake", "--install", "build"
  end

  test do
    assert_match(/^llmgw \d+\.\d+\.\d+/, shell_output("#{bin}/llmgw --version"))

    services = JSON.parse(shell_output("#{bin}/llmgw services --json"))
    openai = services.find { |service| service["name"] == "openai" }
    refute_nil openai
    assert_equal "https://api.openai.com", openai["base_url"]

    route = shell_output("#{bin}/llmgw route POST /gateway/openai/v1/embeddings")
    assert_match(/^lane:\s+background$/, route)
    assert_match "Long-running API (/v1/embeddings)", route
  end
end
