/* Test-only shim for running the Windows binary under Wine 8.
 *
 * Rust's standard library gets random bytes from ProcessPrng in
 * bcryptprimitives.dll (Windows 10+), which Wine 8 does not provide. This DLL
 * exports ProcessPrng on top of SystemFunction036 (RtlGenRandom), which Wine
 * has. `make test-windows` builds it with mingw next to the test copy of the
 * exe; it never ships and never enters dist/. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
