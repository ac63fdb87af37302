//! What to do about a vLLM that died, read from the last lines of its log.

/// The hint for a vLLM that exited with `tail` as the end of its log: the host's driver or
/// GPU when the log shows the engine's CUDA errors for them, else the general reading.
pub fn for_log(tail: &str) -> &'static str {
    if tail.contains("NVIDIA driver on your system is too old") {
        "The host's NVIDIA driver is older than the CUDA version this engine version is built for (its offer listed a newer one, or none): try another offer, or an engine version that needs an older CUDA."
    } else if tail.contains("no kernel image is available") {
        "This engine version has no kernels for the host's GPU architecture (for example vLLM 0.6.4 on a Blackwell RTX 5090, or a CUDA 13 build on a Volta V100): choose an engine version that supports this GPU, or another GPU."
    } else {
        "Read the log lines: out of memory means a bigger GPU or a quantized model; a CUDA error while serving is the host's GPU or driver (try another offer); a missing module means the install failed."
    }
}

#[cfg(test)]
mod tests {
    use super::for_log;

    #[test]
    fn the_driver_and_kernel_cases_get_their_own_hint() {
        let driver = for_log(
            "RuntimeError: The NVIDIA driver on your system is too old (found version 12040).",
        );
        assert!(driver.contains("driver is older"), "{driver}");
        let kernel = for_log("torch.AcceleratorError: CUDA error: no kernel image is available for execution on the device");
        assert!(kernel.contains("no kernels for the host's GPU"), "{kernel}");
        assert!(for_log("torch.OutOfMemoryError: CUDA out of memory").contains("out of memory"));
    }
}
