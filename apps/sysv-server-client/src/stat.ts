import { formatKey, SysvSegment } from '@shmkit/sysv-shm';
import { ctimeString } from './options';

/** The lines `ipcs -m -i <id>` prints, plus the key and status. */
export function statLines(id: number): string[] {
  const st = SysvSegment.fromId(id).stat();
  const octal = (n: number) => `0${n.toString(8)}`;
  const status =
    [st.removed ? 'dest' : '', st.locked ? 'locked' : ''].filter(Boolean).join(' ') || '-';
  return [
    `Shared memory Segment shmid=${st.id}`,
    `uid=${st.uid}\tgid=${st.gid}\tcuid=${st.cuid}\tcgid=${st.cgid}`,
    `mode=${octal(st.rawMode)}\taccess_perms=${octal(st.mode).padStart(4, '0')}`,
    `bytes=${st.size}\tlpid=${st.lpid}\tcpid=${st.cpid}\tnattch=${st.nattch}`,
    `att_time=${ctimeString(st.atime)}`,
    `det_time=${ctimeString(st.dtime)}`,
    `change_time=${ctimeString(st.ctime)}`,
    `key=${formatKey(st.key)}\tstatus=${status}`,
  ];
}
