# frozen_string_literal: true

# Loads packaging/homebrew/llmgw.rb without Homebrew: a small stand-in for Homebrew's
# Formula DSL records what the formula declares, checks it, and runs its `test do` block
# against a built llmgw.
#
# Usage: ruby formula_harness.rb FORMULA BIN_DIR
require "json"
require "open3"
require "pathname"

# The parts of Homebrew's Formula class that llmgw.rb uses.
class Formula
  class << self
    attr_reader :fields, :dependencies, :macos_uses, :test_block

    def inherited(subclass)
      super
      @last = subclass
      subclass.instance_variable_set(:@fields, {})
      subclass.instance_variable_set(:@dependencies, [])
      subclass.instance_variable_set(:@macos_uses, [])
    end

    def last_defined = @last

    %i[desc homepage url sha256 license].each do |name|
      define_method(name) { |value, **_options| @fields[name] = value }
    end

    def head(value, **options)
      @fields[:head] = value
      @fields[:head_options] = options
    end

    def depends_on(spec)
      name, tags = spec.is_a?(Hash) ? spec.first : [spec, nil]
      @dependencies << [name, Array(tags)]
    end

    def uses_from_macos(name, **_options)
      @macos_uses << name
    end

    def test(&block)
      @test_block = block
    end
  end

  class AssertionFailed < StandardError; end

  attr_reader :commands

  def initialize(bin_dir)
    @bin = Pathname(bin_dir)
    @commands = []
  end

  def bin = @bin

  def std_cmake_args = ["-DCMAKE_INSTALL_PREFIX=/prefix", "-DCMAKE_BUILD_TYPE=Release"]

  def system(*args)
    @commands << args
    true
  end

  def shell_output(command, expected_status = 0)
    output, status = Open3.capture2(command)
    unless status.exitstatus == expected_status
      raise AssertionFailed, "#{command} exited #{status.exitstatus}, expected #{expected_status}"
    end

    output
  end

  def assert_match(pattern, text)
    ok = pattern.is_a?(Regexp) ? pattern.match?(text) : text.include?(pattern)
    raise AssertionFailed, "#{pattern.inspect} does not match #{text.inspect}" unless ok
  end

  def assert_equal(expected, actual)
    raise AssertionFailed, "expected #{expected.inspect}, got #{actual.inspect}" unless expected == actual
  end

  def refute_nil(value)
    raise AssertionFailed, "expected a value, got nil" if value.nil?
  end

  def assert_predicate(object, predicate)
    raise AssertionFailed, "#{object.inspect} is not #{predicate}" unless object.send(predicate)
  end
end

formula_path, bin_dir = ARGV
load formula_path
klass = Formula.last_defined
failures = []
check = lambda do |ok, what|
  if ok
    puts "ok   #{what}"
  else
    failures << what
  end
end

fields = klass.fields
check.call(klass.name == "Llmgw", "the class is Llmgw")
%i[desc homepage url sha256 head].each { |name| check.call(fields[name].is_a?(String), "#{name} is set") }
check.call(fields[:desc].to_s.length <= 80 && !fields[:desc].to_s.start_with?("A ", "An "),
           "desc is short and has no article")
check.call(fields[:sha256].to_s.match?(/\A\h{64}\z/), "sha256 has 64 hex digits")
check.call(fields[:url].to_s.start_with?("https://"), "url is https")

deps = klass.dependencies.to_h
check.call(deps["cmake"] == [:build], 'depends_on "cmake" => :build')
check.call(deps["nlohmann-json"] == [:build], 'depends_on "nlohmann-json" => :build (header-only)')
%w[fmt spdlog tomlplusplus].each do |name|
  check.call(deps[name] == [:build], "depends_on \"#{name}\" => :build (compiled into the binary)")
end
check.call(deps["mimalloc"] == [], 'depends_on "mimalloc"')
%w[boost cli11].each { |name| check.call(deps.key?(name), "depends_on \"#{name}\"") }
check.call(!deps.key?("doctest"), "doctest is not a dependency (tests are off)")
check.call(klass.macos_uses.include?("curl"), 'uses_from_macos "curl"')

formula = klass.new(bin_dir)
formula.install
configure = formula.commands.find { |c| c[0] == "cmake" && c.include?("-S") }
check.call(!configure.nil? && configure.each_cons(2).include?(["-S", "."]) &&
           configure.each_cons(2).include?(["-B", "build"]) &&
           configure.include?("-DCMAKE_INSTALL_PREFIX=/prefix") &&
           configure.include?("-DLLMGW_BUILD_TESTS=OFF"),
           "install configures with -S . -B build, -DLLMGW_BUILD_TESTS=OFF and std_cmake_args")
check.call(formula.commands.include?(%w[cmake --build build]), "install builds")
check.call(formula.commands.include?(%w[cmake --install build]), "install runs cmake --install")

begin
  formula.instance_eval(&klass.test_block)
  check.call(true, "the test block passes against #{bin_dir}/llmgw")
rescue Formula::AssertionFailed, JSON::ParserError => e
  check.call(false, "the test block: #{e.message}")
end

failures.each { |f| puts "FAIL #{f}" }
exit(failures.empty? ? 0 : 1)
