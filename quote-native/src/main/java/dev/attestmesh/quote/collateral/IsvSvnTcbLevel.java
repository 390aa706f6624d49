package dev.attestmesh.quote.collateral;

import dev.attestmesh.quote.TcbStatus;
import java.util.List;

/**
 * A TCB level keyed by a single ISV SVN: QE Identity levels and TDX module identity levels.
 *
 * @param isvSvn the minimum ISVSVN for this level
 * @param status the level's TCB status
 * @param advisoryIds Intel security advisories that apply at this level
 */
public record IsvSvnTcbLevel(int isvSvn, TcbStatus status, List<String> advisoryIds) {
    public IsvSvnTcbLevel {
        advisoryIds = List.copyOf(advisoryIds);
    }
}
